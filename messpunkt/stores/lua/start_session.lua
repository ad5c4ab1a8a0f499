-- ARGV: prefix, grace, now, then the new session and its issue (see open).
-- {} for a sandbox deleted or expired meanwhile: nothing would ever delete its keys.
local g = generation()
if g == '-' then return {} end
if client_gone(4, ARGV[6]) then return {'refused', 'client_gone'} end
return open(4, ARGV[3], g)
