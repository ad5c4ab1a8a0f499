-- ARGV: prefix, grace, now, token hash, client_id, reason.
local g = generation()
local t = redis.call('HMGET', P .. 'rt:' .. ARGV[4], 'g', 'sid', 'client_id')
if t[1] ~= g or t[3] ~= ARGV[5] then return 0 end
revoke(t[2], ARGV[6], ARGV[3], g)
return 1
