-- ARGV: prefix, grace, now, token hash, client_id, reason.
-- A token of another generation or client, or expired (RFC 7009 §2.2: an invalid token is
-- answered and nothing more), revokes nothing.
local g = generation()
local t = redis.call('HMGET', P .. 'rt:' .. ARGV[4], 'g', 'sid', 'client_id', 'expires_at')
if t[1] ~= g or t[3] ~= ARGV[5] then return 0 end
if tonumber(ARGV[3]) >= tonumber(t[4]) then return 0 end
revoke(t[2], ARGV[6], ARGV[3], g)
return 1
