// Pre-signs COUNT distinct voice webhooks for URL with the twilio SDK
// (getExpectedTwilioSignature), one "CallSid signature" line each, so the
// load driver never replays a call. Usage: node sign.js URL TOKEN COUNT PREFIX
const { getExpectedTwilioSignature } = require("twilio/lib/webhooks/webhooks");

const [url, token, count, prefix] = process.argv.slice(2);
const out = [];
for (let i = 0; i < Number(count); i++) {
  const sid = "CA" + prefix + i.toString(16).padStart(32 - prefix.length, "0");
  const params = {
    CallSid: sid,
    AccountSid: "AC0123456789abcdef0123456789abcdef",
    From: "+14155550100",
    To: "+18005550100",
    CallStatus: "ringing",
    Direction: "inbound",
    StirVerstat: "TN-Validation-Passed-A",
  };
  out.push(sid + " " + getExpectedTwilioSignature(token, url, params));
}
process.stdout.write(out.join("\n") + "\n");
