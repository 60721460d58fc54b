-- wrk script for scripts/bench-serve: every request POSTs one new MARKET_CREATED event, unique per
-- wrk thread and request, so each request is one real write (never a duplicate).
local counter = 0
local threads = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  prefix = (args[1] or "run") .. "-" .. tostring(tid)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"action":"MARKET_CREATED","createdAt":"2026-01-15T00:00:00Z","marketId":"bench-%s-%d",' ..
    '"question":"Bench?","startDate":"2026-01-15T00:00:00Z","endDate":"2030-01-01T00:00:00Z",' ..
    '"contractAddress":"0x8eae8949000b53c91a38f74b3ab18a7514ec235c",' ..
    '"gnosisSafeAddress":"0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"}', prefix, counter)
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end

local non_201 = 0
response = function(status, headers, body)
  if status ~= 201 then non_201 = non_201 + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH p50_us=%d p99_us=%d p999_us=%d requests=%d errors=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
