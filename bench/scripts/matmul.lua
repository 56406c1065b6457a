-- matmul: two generated 50x50 float matrices (nested tables, 0-based like the
-- Rhai arrays), multiplied.
local N = 50
local function zeros(rows, cols)
    local m = {}
    for i = 0, rows - 1 do
        local row = {}
        for j = 0, cols - 1 do row[j] = 0.0 end
        m[i] = row
    end
    return m
end
local function generate(n)
    local scale = 1.0 / n / n
    local m = zeros(n, n)
    for i = 0, n - 1 do
        for j = 0, n - 1 do
            m[i][j] = scale * (i - j) * (i + j)
        end
    end
    return m
end
local function multiply(a, b, rows, inner, cols)
    local bt = zeros(cols, inner)
    for i = 0, inner - 1 do
        for j = 0, cols - 1 do
            bt[j][i] = b[i][j]
        end
    end
    local c = zeros(rows, cols)
    for i = 0, rows - 1 do
        for j = 0, cols - 1 do
            local sum = 0.0
            for k = 0, inner - 1 do
                sum = sum + a[i][k] * bt[j][k]
            end
            c[i][j] = sum
        end
    end
    return c
end
local a = generate(N)
local b = generate(N)
local c = multiply(a, b, N, N, N)
return c[10][20]
