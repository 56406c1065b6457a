-- loop: count down from 1,000,000 with a while loop.
local x = 1000000
while x > 0 do
    x = x - 1
end
return x
