-- ARGV: prefix, grace, token hash. Returns the session id of a current-generation token.
local sid = redis.call('GET', P .. 'pat:' .. ARGV[3])
if not sid or not session_of(sid, generation()) then return false end
return sid
