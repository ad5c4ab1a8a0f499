-- ARGV: prefix, grace, now, then the new session and its issue (see open), the sandbox as
-- read. Refused for a sandbox deleted or expired meanwhile (nothing would ever delete its
-- keys), or reset or its clock moved since the request read it (see as_read).
local g, refused = as_read()
if not g then return {refused} end
if client_gone(4, ARGV[6]) then return {'refused', 'client_gone'} end
return open(4, ARGV[3], g)
