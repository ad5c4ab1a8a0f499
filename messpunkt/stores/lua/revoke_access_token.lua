-- ARGV: prefix, grace, now, session id, jti, expires_at. The jti is kept with its session:
-- once the session is collected, the token fails on the session anyway.
local key = session_of(ARGV[4], generation())
if key then redis.call('HSET', key, 'j:' .. ARGV[5], ARGV[6]) end
return 1
