// Bulk dataset writes are applied a piece per event-loop turn while someone is waiting on other requests, so work
// already waiting (a transaction) runs between pieces, and its answer waits until those are taken; with no one waiting a
// write is applied at once, whole.
import t from 'tap';
import { BULK_ANSWER_MAX_TURNS, BULK_PIECE_BYTES, BulkQueue, INTERACTIVE_QUIET_MS } from '../../src/fs/bulk-queue.js';

/** A queue on a clock the test moves, that has just seen an interactive request; by default a request always waits. */
function busyQueue(requestsWaiting?: () => number) {
  const clock = { now: 1000 };
  const q = new BulkQueue(() => clock.now, requestsWaiting);
  q.sawInteractive(clock.now);
  return { q, clock };
}

/** `count` text lines of `bytes` bytes each (newline included). */
function lines(count: number, bytes: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, i) => `${i}`.padEnd(bytes - 1, ' ') + '\n').join(''));
}

t.test('writes are applied one piece per turn, with other waiting work in between, and settle in order', async (t) => {
  const { q } = busyQueue();
  const order: string[] = [];
  const writes = [1, 2].map((i) => q.write(Buffer.from(`${i} 2 3\n`), () => void order.push(`write${i}`)) as Promise<void>);
  t.equal(q.waiting, 2, 'nothing runs at once');
  setImmediate(() => order.push('waiting request'));
  await Promise.all(writes);
  t.same(order, ['write1', 'waiting request', 'write2'], 'the waiting request ran before the second write, not after both');
});

t.test('a big write goes in pieces that end at a newline, and a request waiting between pieces runs before the rest', async (t) => {
  const { q } = busyQueue();
  const data = lines(1000, 50); // 50,000 bytes: four pieces
  const pieces: Buffer[] = [];
  const order: string[] = [];
  const done = q.write(data, (piece) => {
    pieces.push(Buffer.from(piece));
    order.push('piece');
  }) as Promise<void>;
  const behind = q.write(lines(1, 10), () => void order.push('next write')) as Promise<void>;
  setImmediate(() => setImmediate(() => order.push('waiting request')));
  await Promise.all([done, behind]);
  t.same(Buffer.concat(pieces), data, 'the pieces, in order, are the write');
  t.equal(pieces.length, 4, 'three pieces of whole lines up to BULK_PIECE_BYTES, then the rest');
  t.ok(
    pieces.every((p) => p.length <= BULK_PIECE_BYTES && p[p.length - 1] === 0x0a),
    'every piece ends a line',
  );
  t.same(order, ['piece', 'piece', 'waiting request', 'piece', 'piece', 'next write'], 'one piece a turn; the next write waits for the whole one');
  const noNewline = Buffer.alloc(BULK_PIECE_BYTES + 100, 0x41);
  const sizes: number[] = [];
  await q.write(noNewline, (piece) => void sizes.push(piece.length));
  t.same(sizes, [BULK_PIECE_BYTES, 100], 'without a newline a piece ends at its window');
});

t.test('pieces of a write go on in the same turn until a request waits', async (t) => {
  let waiting = 0;
  const { q } = busyQueue(() => waiting);
  const order: string[] = [];
  let pieces = 0;
  const done = q.write(lines(2000, 50), () => {
    order.push('piece');
    if (++pieces === 3) waiting = 1; // a request arrived during the third piece
  });
  setImmediate(() => {
    order.push('turn ends');
    waiting = 0; // the loop took it
  });
  await done;
  t.same(order, ['piece', 'piece', 'piece', 'turn ends', 'piece', 'piece', 'piece', 'piece'], 'three pieces, the turn, then the rest at once');
});

t.test("a piece's error stops the rest of its write and rejects it; the queue goes on", async (t) => {
  const { q } = busyQueue();
  let applied = 0;
  const failed = q.write(lines(1000, 50), () => {
    if (++applied === 2) throw new Error('bad sample');
  });
  await t.rejects(failed as Promise<never>, /bad sample/, "the piece's error rejects the write");
  t.equal(applied, 2, 'no piece after the bad one is applied');
  let next = 0;
  await q.write(Buffer.from('1\n'), () => void next++);
  t.equal(next, 1, 'the queue keeps going after an error');
});

t.test('with no interactive request lately a write is applied at once and whole; after one it queues for the quiet time', async (t) => {
  const clock = { now: 0 };
  const q = new BulkQueue(() => clock.now);
  const big = lines(1000, 50);
  let whole: Buffer | undefined;
  t.equal(
    q.write(big, (piece) => void (whole = piece)),
    undefined,
    'a lone writer is not made to wait a turn',
  );
  t.equal(whole, big, 'nor cut into pieces');
  t.throws(
    () =>
      q.write(big, () => {
        throw new Error('bad sample');
      }),
    /bad sample/,
    'an error of a write applied at once is thrown to its caller',
  );
  q.sawInteractive(clock.now);
  clock.now += INTERACTIVE_QUIET_MS;
  const order: string[] = [];
  const queued = q.write(big, () => void order.push('queued'));
  t.type(queued, Promise, 'within the quiet time after an interactive request, writes queue');
  clock.now += 1;
  const behind = q.write(Buffer.from('1\n'), () => void order.push('behind'));
  t.type(behind, Promise, 'past the quiet time a write still queues behind one waiting, keeping the order');
  await Promise.all([queued, behind]);
  t.same(order, ['queued', 'queued', 'queued', 'queued', 'behind']);
  let quiet = 0;
  t.equal(
    q.write(big, () => void quiet++),
    undefined,
    'once the queue is empty and the quiet time passed, at once again',
  );
  t.equal(quiet, 1);
});

/** Turns of the event loop until `p` settles, counting up to `max`; `onTurn` runs at the start of each. */
async function turnsUntilSettled(p: Promise<void>, max: number, onTurn: (turn: number) => void = () => {}): Promise<number> {
  let settled = false;
  void p.then(() => void (settled = true));
  for (let turn = 1; turn <= max; turn++) {
    onTurn(turn);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (settled) return turn;
  }
  return Infinity;
}

t.test("a decoded write's answer waits while requests wait, and goes once they are taken", async (t) => {
  let waiting = 1;
  const { q } = busyQueue(() => waiting);
  let applied = false;
  const done = q.write(lines(10, 20), () => void (applied = true)) as Promise<void>;
  const turns = await turnsUntilSettled(done, 20, (turn) => {
    if (turn === 4) waiting = 0; // the loop took the waiting requests
  });
  t.ok(applied, 'the write was decoded');
  t.ok(turns >= 4 && turns <= 5, `answered in the turn after the requests were taken (turn ${turns})`);
});

t.test('a held answer goes after BULK_ANSWER_MAX_TURNS even if requests never stop waiting', async (t) => {
  const { q } = busyQueue(() => 3);
  const turns = await turnsUntilSettled(q.write(lines(10, 20), () => {}) as Promise<void>, 50);
  t.ok(turns >= BULK_ANSWER_MAX_TURNS, `not before its turns ran out (turn ${turns})`);
  t.ok(turns <= BULK_ANSWER_MAX_TURNS + 2, 'nor long after');
  const guessed = busyQueue().q; // no binding count: a request is taken to wait after every piece
  const unheld = await turnsUntilSettled(guessed.write(lines(10, 20), () => {}) as Promise<void>, 50);
  t.ok(unheld <= 2, `a queue without the binding's count does not hold answers (turn ${unheld})`);
});

t.test('with no request waiting a decoded write is answered in its own turn', async (t) => {
  const { q } = busyQueue(() => 0);
  const turns = await turnsUntilSettled(q.write(lines(10, 20), () => {}) as Promise<void>, 20);
  t.ok(turns <= 2, `answered after ${turns} turns`);
});
