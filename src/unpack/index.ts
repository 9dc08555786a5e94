// unpack: applies one image layer (a tar stream, plain, gzip or zstd) to a directory in a single
// pass, verifying the descriptor's digest and size and the config's diffID as the bytes go by.
//
// Contract for callers (snapshotters, the pull path):
// - `target` is an existing directory that nothing else modifies during the apply: a fresh
//   snapshot directory (overlay mode), or a copy of the parent snapshot (apply mode).
// - On any error (DataLossError for mismatches and truncation, InvalidArgumentError for hostile or
//   malformed entries and unknown media types, CanceledError on abort) the target holds partial
//   content and must be discarded: `rm -rf target` is safe, because nothing was created outside
//   it, nothing inside it is immutable, and rm does not follow the symlinks it finds. When the
//   promise settles, no write of this apply happens afterwards (a worker whose layer failed is
//   terminated; one whose layer succeeded is idle, kept for the next layer).
// - Names are made relative (a leading `/` is dropped, as containerd and GNU tar do); `..` that
//   would leave the target, writing through a symlink, hardlinks to outside the target, and
//   whiteouts that leave their directory are refused, and the first refusal fails the apply.
// - The input stream is consumed to its end (trailing bytes are part of the digest); on failure it
//   is destroyed.

export { applyLayer } from './apply-layer.ts';
export { layerCompression } from './media.ts';
export type { ApplyLayerOptions, ApplyLayerResult, WhiteoutMode } from './types.ts';
