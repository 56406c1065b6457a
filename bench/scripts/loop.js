// loop: count down from 1,000,000 with a while loop.
(function () {
    let x = 1000000;
    while (x > 0) {
        x -= 1;
    }
    return x;
})()
