-- wrk script of the serving benchmark (bench/serve/run): POSTs one v2 infer request body, read
-- from the file named after `--`, with Content-Type application/json, on every request; at the
-- end prints one JSON line the driver parses (counts, errors, latency percentiles in µs).
--   wrk -t1 -c32 -d10s --latency -s bench/serve/infer.lua URL -- BODY_FILE

function init(args)
   local path = args[1]
   if not path then
      error("infer.lua: usage: wrk ... -s infer.lua URL -- BODY_FILE")
   end
   local f = assert(io.open(path, "rb"))
   wrk.body = f:read("*a")
   f:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
