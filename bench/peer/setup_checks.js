// Makes COUNT pending PIN challenges on a running pingate for the check
// benchmark: a signed call from a distinct unregistered number, the org
// attached by the agent, an email challenge. Prints one challenge id a line.
// Usage: node setup_checks.js BASE AUTH_TOKEN AGENT_TOKEN COUNT OFFSET
const { getExpectedTwilioSignature } = require("twilio/lib/webhooks/webhooks");

const [base, authToken, agentToken, count, offset] = process.argv.slice(2);

async function api(method, path, body) {
  const resp = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const json = await resp.json();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

async function one(i) {
  const n = Number(offset) + i;
  const sid = "CA" + "c0ffee" + n.toString(16).padStart(26, "0");
  const params = {
    CallSid: sid,
    AccountSid: "AC0123456789abcdef0123456789abcdef",
    From: "+1415" + String(6000000 + n).padStart(7, "0"),
    To: "+18005550100",
    CallStatus: "ringing",
    Direction: "inbound",
  };
  const url = base + "/webhooks/twilio/voice";
  const resp = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": getExpectedTwilioSignature(authToken, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  if (!resp.ok) throw new Error(`voice: ${resp.status}`);
  const calls = await api("GET", `/v1/calls?provider_call_id=${sid}`);
  const callId = calls.items[0].call_id;
  await api("POST", `/v1/calls/${callId}/org`, { org_id: "contoso" });
  const ch = await api("POST", `/v1/calls/${callId}/challenges`, { channel: "email" });
  return ch.challenge_id;
}

(async () => {
  const ids = [];
  const total = Number(count);
  for (let i = 0; i < total; i += 8) {
    const batch = [];
    for (let j = i; j < Math.min(i + 8, total); j++) batch.push(one(j));
    ids.push(...(await Promise.all(batch)));
  }
  process.stdout.write(ids.join("\n") + "\n");
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
