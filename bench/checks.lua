-- wrk script: wrong-PIN checks spread over pre-made challenges, each
-- challenge checked at most ATTEMPTS times (its budget), so every check
-- runs argon2. Arguments: FILE THREADS ATTEMPTS TOKEN
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  attempts, token = tonumber(args[3]), args[4]
  ids = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      ids[#ids + 1] = line
    end
    i = i + 1
  end
  n = 0
  exhausted = 0
end

function request()
  local slot = math.floor(n / attempts) + 1
  n = n + 1
  if slot > #ids then
    exhausted = exhausted + 1
    return wrk.format("POST", "/exhausted")
  end
  return wrk.format("POST", "/v1/challenges/" .. ids[slot] .. "/check", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"pin": "000000"}')
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
