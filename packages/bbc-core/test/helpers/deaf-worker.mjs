// A worker entry that never listens: it stays alive and answers nothing (batch-child.mjs "deaf").
setInterval(() => {}, 1000);
