-- wrk script of the registry-mode load test (test_deploy_under_load.sh): POSTs one v2 infer
-- body, read from the file named after `--`, on every request; counts every answer whose
-- status is not 2xx (wrk's own status error count only sees >= 400) and prints one line
--   WRK_JSON {"requests":N,"responses":N,"non2xx":N,"errors":{"connect":N,...}}
-- at the end (wrk prints it when its duration ends or on SIGINT).
--   wrk -t2 -c16 -d120s -s tests/integration/infer_count.lua URL -- BODY_FILE

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.body = f:read("*a")
   f:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   responses = 0
   non2xx = 0
end

function response(status, headers, body)
   responses = responses + 1
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local n, bad = 0, 0
   for _, t in ipairs(threads) do
      n = n + t:get("responses")
      bad = bad + t:get("non2xx")
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"responses":%d,"non2xx":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.requests, n, bad, e.connect, e.read, e.write, e.status, e.timeout))
end
