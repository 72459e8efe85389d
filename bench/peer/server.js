// The peer: the voice webhook a Twilio user writes by the book, with
// Express and the twilio package's webhook() validation, and no database.
// PORT and TWILIO_AUTH_TOKEN come from the environment.
const express = require("express");
const twilio = require("twilio");

const app = express();
app.use(express.urlencoded({ extended: false }));

app.post("/webhooks/twilio/voice", twilio.webhook(), (req, res) => {
  const reply = new twilio.twiml.VoiceResponse();
  reply.say("Thank you for calling support. Please hold for the next agent.");
  reply.enqueue("support");
  res.type("text/xml").send(reply.toString());
});

app.get("/readyz", (_req, res) => res.send("ok"));

const server = app.listen(Number(process.env.PORT || 3000), "127.0.0.1", () => {
  console.log(`peer listening on ${server.address().port}`);
});
