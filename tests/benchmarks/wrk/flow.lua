-- A whole authorize + token exchange: POST the consent, then redeem its code.
-- One connection per thread, so the two requests of a flow alternate in order.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local challenge = os.getenv("BENCH_CHALLENGE")
local verifier = os.getenv("BENCH_VERIFIER")
local redirect = "http%3A%2F%2Flocalhost%3A3000%2Fcallback"

function init(args)
  code = nil
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  if code == nil then
    return wrk.format(nil, "/oauth/authorize", nil,
      "client_id=sandbox-demo-client&redirect_uri=" .. redirect ..
      "&scope=read%3Aunits&state=bench&code_challenge=" .. challenge ..
      "&code_challenge_method=S256&property=6fb74d25-5517-4dcc-ae8b-0914579ab036&decision=approve")
  end
  local body = "grant_type=authorization_code&client_id=sandbox-demo-client&redirect_uri=" ..
    redirect .. "&code_verifier=" .. verifier .. "&code=" .. code
  code = nil
  return wrk.format(nil, "/oauth/token", nil, body)
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"]
  if status == 302 and location then
    code = string.match(location, "code=([A-F0-9]+)")
  end
end
