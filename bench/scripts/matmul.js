// matmul: two generated 50x50 float matrices (nested arrays), multiplied.
(function () {
    const N = 50;
    function zeros(rows, cols) {
        const m = [];
        for (let i = 0; i < rows; i++) {
            m.push(new Array(cols).fill(0.0));
        }
        return m;
    }
    function generate(n) {
        const scale = 1.0 / n / n;
        const m = zeros(n, n);
        for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
                m[i][j] = scale * (i - j) * (i + j);
            }
        }
        return m;
    }
    function multiply(a, b) {
        const rows = a.length, inner = a[0].length, cols = b[0].length;
        const bt = zeros(cols, inner);
        for (let i = 0; i < inner; i++) {
            for (let j = 0; j < cols; j++) {
                bt[j][i] = b[i][j];
            }
        }
        const c = zeros(rows, cols);
        for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
                let sum = 0.0;
                for (let k = 0; k < inner; k++) {
                    sum += a[i][k] * bt[j][k];
                }
                c[i][j] = sum;
            }
        }
        return c;
    }
    const a = generate(N);
    const b = generate(N);
    const c = multiply(a, b);
    return c[10][20];
})()
