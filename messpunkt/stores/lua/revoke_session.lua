-- ARGV: prefix, grace, now, session id, reason, kind ('' for any).
local g = generation()
local key = session_of(ARGV[4], g)
if not key then return 0 end
if ARGV[6] ~= '' and redis.call('HGET', key, 'kind') ~= ARGV[6] then return 0 end
revoke(ARGV[4], ARGV[5], ARGV[3], g)
return 1
