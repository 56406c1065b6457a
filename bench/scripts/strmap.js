// strmap: 4 x 210 x 226 = 189,840 template-literal keys put into a Map, looked
// up and summed, then all removed. (A Map, not a plain object: deleting from a
// large plain object is linear in goja.)
(function () {
    const first = ["quite", "rather", "truly", "very"];
    const second = [];
    for (let i = 0; i < 210; i++) second.push(`adjective${i}`);
    const third = [];
    for (let i = 0; i < 226; i++) third.push(`animal number ${i}`);
    const keys = [];
    for (const c of third) {
        for (const b of second) {
            for (const a of first) {
                keys.push(`${a} ${b} ${c}`);
            }
        }
    }
    const table = new Map();
    let n = 0;
    for (const k of keys) {
        table.set(k, n);
        n += 1;
    }
    let sum = 0;
    for (const k of keys) {
        sum += table.get(k);
    }
    for (const k of keys) {
        table.delete(k);
    }
    if (table.size !== 0) throw new Error("table not empty");
    return sum;
})()
