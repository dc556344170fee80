-- wrk script for `ftmamba serve`: POST /recommend for known users drawn at random, a share of them malformed.
--   wrk -s bench/serve_load.lua URL/recommend -- USERS_FILE [MALFORMED_SHARE=0] [K=100] [BODIES_FILE]
-- USERS_FILE holds one user id per line; with BODIES_FILE (one JSON body per line: new users' features, say), the
-- well-formed requests send its lines at random instead of known users' ids. Every response's status is counted; done() prints one JSON line with
-- the latency percentiles, the request rate, the status counts and the malformed requests sent.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Bodies that must each be refused with 400: bad JSON, a missing id, a wrong type, k out of range, an unknown
-- feature, a non-finite number.
local malformed = {
  '{"user_id": ',
  '{"k": 10}',
  '{"user_id": 42}',
  '{"user_id": "%s", "k": 0}',
  '{"user_id": "%s", "k": "ten"}',
  '{"features": {"no_such_feature": 1}}',
  '{"features": {"age": "nan"}}',
  '[1, 2, 3]',
}

function init(args)
  users = {}
  for line in io.lines(args[1]) do
    if line ~= "" then table.insert(users, line) end
  end
  share = tonumber(args[2] or "0")
  k = tonumber(args[3] or "100")
  bodies = {}
  if args[4] then
    for line in io.lines(args[4]) do
      if line ~= "" then table.insert(bodies, line) end
    end
  end
  counts = {}
  sent_malformed = 0
  sent = 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local user = users[math.random(#users)]
  local body
  if share > 0 and math.random() < share then
    sent_malformed = sent_malformed + 1
    body = string.format(malformed[math.random(#malformed)], user)
  elseif #bodies > 0 then
    body = bodies[math.random(#bodies)]
  else
    body = string.format('{"user_id": "%s", "k": %d}', user, k)
  end
  sent = sent + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local statuses, malformed_sent, total_sent = {}, 0, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do
      statuses[tostring(status)] = (statuses[tostring(status)] or 0) + n
    end
    malformed_sent = malformed_sent + t:get("sent_malformed")
    total_sent = total_sent + t:get("sent")
  end
  local parts = {}
  for status, n in pairs(statuses) do table.insert(parts, string.format('"%s": %d', status, n)) end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "qps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "statuses": {%s}, "sent": %d, "malformed_sent": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3, table.concat(parts, ", "),
    total_sent, malformed_sent, summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout))
end
