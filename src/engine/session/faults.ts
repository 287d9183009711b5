// Owns the test-only fault rewrites: how a broken model server would corrupt a recommendation answer or the
// integer network export.
import { fail } from '../../errors.js';
import type { Fault } from '../../protocol.js';

export function applyFault(fault: Fault, answer: string): string {
  switch (fault) {
    case 'none':
    case 'diverge':
    case 'qnet_corrupt':
    case 'qnet_withdrawn':
      return answer;
    case 'garbage':
      return answer.replace(/[^\n]+/g, 'zz?!#');
    case 'out_of_range':
      return answer.replace(/[^\s]+/g, '999999999999');
  }
}

/** The `qnet` export under the qnet faults: withdrawn (ENODATA), or one byte flipped after the checksum. */
export function applyQnetFault(fault: Fault, render: () => Buffer): Buffer {
  if (fault === 'qnet_withdrawn') fail('ENODATA', 'qnet: withdrawn (test fault qnet_withdrawn)');
  const bytes = render();
  if (fault !== 'qnet_corrupt') return bytes;
  // A copy with a byte in the middle of the body flipped: the cached export stays good.
  const spoiled = Buffer.from(bytes);
  spoiled[spoiled.length >> 1] ^= 0x40;
  return spoiled;
}
