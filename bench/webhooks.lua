-- wrk script: each request is a distinct signed voice webhook, taken from
-- a file of "CallSid signature" lines pre-signed with the twilio SDK
-- (peer/sign.js). Threads take disjoint lines; none is ever sent twice.
-- Arguments: PATH FILE THREADS [PACE_MS]: with PACE_MS, each connection
-- waits that long before its next request (a steady arrival rate rather
-- than back-to-back requests).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  path, file, nthreads = args[1], args[2], tonumber(args[3])
  pace_ms = tonumber(args[4] or "0")
  sids, sigs = {}, {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local sid, sig = line:match("^(%S+) (%S+)$")
      sids[#sids + 1] = sid
      sigs[#sigs + 1] = sig
    end
    i = i + 1
  end
  n = 0
  exhausted = 0
end

function delay()
  return pace_ms
end

function request()
  n = n + 1
  if n > #sids then
    -- Out of distinct calls: send nothing valid rather than a replay.
    exhausted = exhausted + 1
    return wrk.format("POST", "/exhausted")
  end
  local body = "CallSid=" .. sids[n]
    .. "&AccountSid=AC0123456789abcdef0123456789abcdef"
    .. "&From=%2B14155550100&To=%2B18005550100&CallStatus=ringing"
    .. "&Direction=inbound&StirVerstat=TN-Validation-Passed-A"
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sigs[n],
  }, body)
end

function done(summary, latency, requests)
  local exhausted = 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, "exhausted": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    exhausted, latency:percentile(50), latency:percentile(99)))
end
