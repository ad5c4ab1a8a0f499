-- Prepare refresh tokens: run authorize + token flows (flow.lua) and write each flow's
-- refresh token to a file of the thread's own, BENCH_TOKENS .. <thread>, one a line,
-- until the thread has its share, BENCH_SHARE; then the thread stops.
dofile(os.getenv("BENCH_LUA_DIR") .. "/flow.lua")
local flow_init, flow_response = init, response
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  flow_init(args)
  share = tonumber(os.getenv("BENCH_SHARE"))
  written = 0
  out = io.open(os.getenv("BENCH_TOKENS") .. id, "w")
  out:setvbuf("line")  -- whole lines only: the runner counts them while wrk runs
end

function response(status, headers, body)
  flow_response(status, headers, body)
  local token = status == 200 and string.match(body, '"refresh_token":%s*"([^"]+)"')
  if token and written < share then
    out:write(token, "\n")
    written = written + 1
    if written == share then
      wrk.thread:stop()
    end
  end
end
