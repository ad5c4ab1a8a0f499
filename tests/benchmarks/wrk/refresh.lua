-- Each request rotates a different, prepared refresh token (one per line of BENCH_TOKENS).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local threads, counter = 0, 0

function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end

function init(args)
  stride = tonumber(os.getenv("BENCH_WRK_THREADS"))
  index = first + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local token = tokens[index] or "exhausted"
  index = index + stride
  return wrk.format(nil, "/oauth/token",
    nil, "grant_type=refresh_token&client_id=sandbox-demo-client&refresh_token=" .. token)
end
