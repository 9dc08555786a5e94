import { createHash } from 'node:crypto';
import type { Digest } from '../oci/image/index.ts';

// image-spec config.md "Layer ChainID": ChainID(L0) = DiffID(L0), and
// ChainID(L0|…|Ln) = SHA256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)). A snapshot keyed by chain ID is
// the same filesystem whichever image it came from, so images that share base layers share snapshots.
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffID of diffIDs) {
    const prev = out.at(-1);
    out.push(
      prev === undefined
        ? diffID
        : `sha256:${createHash('sha256').update(`${prev} ${diffID}`).digest('hex')}`,
    );
  }
  return out;
}
