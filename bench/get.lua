-- get.lua: the GET twin of ../shared/bench/post.lua (same RESULT line), for the key list.
--   AUTH_HEADER="Authorization: Bearer egd_..." wrk -t2 -c16 -d10s --latency -s get.lua \
--     'http://127.0.0.1:8310/v1/kms/keys?limit=100'
wrk.method = "GET"
local auth = os.getenv("AUTH_HEADER") or error("AUTH_HEADER not set")
local name, value = auth:match("^([^:]+):%s*(.*)$")
wrk.headers[name] = value

local req
function init(args)
  req = wrk.format()
end
function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
