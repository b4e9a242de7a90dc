-- wrk script for scripts/bench-serve.sh: POSTs one multipart/form-data body, read from a
-- file, to every request, and prints one machine-readable summary line at the end.
--
--   KYSO_BENCH_BODY=body.multipart wrk -t2 -c8 -d20s --latency \
--     -s scripts/bench-serve.lua http://127.0.0.1:PORT/api/v1/verify
--
-- The body file must start with its boundary line ("--BOUNDARY\r\n"), as every
-- multipart/form-data body does; the Content-Type header is built from it.

local path = os.getenv("KYSO_BENCH_BODY")
if path == nil or path == "" then
  error("bench-serve.lua: set KYSO_BENCH_BODY to the multipart body file")
end
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()
local boundary = body:match("^%-%-([^\r\n]+)\r\n")
if boundary == nil then
  error("bench-serve.lua: " .. path .. " does not start with a multipart boundary line")
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary

-- One line for the shell script to parse: latencies in microseconds, duration in
-- microseconds, error counts as wrk counts them (status = responses that were not 2xx/3xx).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "KYSO_BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
