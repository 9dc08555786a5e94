// The shape of /etc/berth/config.toml, written once as data: the validator (validate.ts) and the
// commented defaults that `berth config default` prints (default-text.ts) both read this table, so
// a key cannot be documented without being accepted or accepted without being documented.

export type FieldKind =
  | { type: 'string'; nonEmpty?: boolean }
  | { type: 'path' } // must be absolute
  | { type: 'integer'; min: number; max?: number }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'strings' };

export interface Field {
  kind: FieldKind;
  default: string | number | boolean | readonly string[];
  doc: string;
}

export interface Section {
  doc: string;
  fields: Record<string, Field>;
}

const MiB = 1024 * 1024;

export const schema = {
  top: {
    doc: 'Where berth keeps its data.',
    fields: {
      root: {
        kind: { type: 'path' },
        default: '/var/lib/berth',
        doc: 'Persistent data: content store, snapshots, metadata database.',
      },
      state: {
        kind: { type: 'path' },
        default: '/run/berth',
        doc: 'Runtime state that does not survive a reboot: sockets, bundles, locks.',
      },
    },
  },
  log: {
    doc: 'Diagnostics written to stderr by the CLI and the daemon.',
    fields: {
      level: {
        kind: { type: 'enum', values: ['error', 'warn', 'info', 'debug'] },
        default: 'info',
        doc: 'The least severe level that is printed.',
      },
    },
  },
  images: {
    doc: 'Pulling and unpacking images.',
    fields: {
      max_concurrent_downloads: {
        kind: { type: 'integer', min: 1, max: 64 },
        default: 3,
        doc: 'Layers fetched at once per pull.',
      },
      max_config_size: {
        kind: { type: 'integer', min: 4096, max: 256 * MiB },
        default: 8 * MiB,
        doc: 'Largest image config blob accepted, in bytes (manifests and indexes are capped at 4 MiB).',
      },
      snapshotter: {
        kind: { type: 'enum', values: ['overlayfs', 'native'] },
        default: 'overlayfs',
        doc: 'How unpacked layers are stored and mounted.',
      },
      platform: {
        kind: { type: 'string' },
        default: '',
        doc: 'Platform to pull when an image is multi-platform, as os/arch[/variant]; empty means this host.',
      },
    },
  },
  registry: {
    doc: 'Registry hosts, mirrors and credentials.',
    fields: {
      config_path: {
        kind: { type: 'path' },
        default: '/etc/berth/certs.d',
        doc: 'Directory of containerd-style <host>/hosts.toml files (mirrors, skip_verify, ca, plain HTTP).',
      },
    },
  },
  runtime: {
    doc: 'The OCI runtime that creates containers.',
    fields: {
      default: {
        kind: { type: 'enum', values: ['runc', 'crun'] },
        default: 'runc',
        doc: 'Runtime used when a container or pod does not name one.',
      },
      conmon: {
        kind: { type: 'string', nonEmpty: true },
        default: 'conmon',
        doc: 'The shim binary (looked up in PATH unless absolute).',
      },
    },
  },
  cri: {
    doc: 'The Kubernetes CRI server (berthd).',
    fields: {
      listen: {
        kind: { type: 'path' },
        default: '/run/berth/berth.sock',
        doc: 'Unix socket the gRPC server listens on (mode 0600).',
      },
      stream_address: {
        kind: { type: 'string', nonEmpty: true },
        default: '127.0.0.1',
        doc: 'IP address the streaming server (Exec, Attach, PortForward URLs) listens on; plain HTTP, no authentication beyond one-time tokens.',
      },
      stream_port: {
        kind: { type: 'integer', min: 0, max: 65535 },
        default: 0,
        doc: 'TCP port of the streaming server; 0 picks a free port at each start.',
      },
      cni_conf_dir: {
        kind: { type: 'path' },
        default: '/etc/cni/net.d',
        doc: 'Where CNI network configurations are read from.',
      },
      cni_bin_dirs: {
        kind: { type: 'strings' },
        default: ['/opt/cni/bin', '/usr/lib/cni'],
        doc: 'Where CNI plugin binaries are looked up, in order.',
      },
      pinned_images: {
        kind: { type: 'strings' },
        default: [],
        doc: 'Images (references or sha256: ids) reported as pinned: the kubelet never garbage-collects them.',
      },
      max_container_log_line_size: {
        kind: { type: 'integer', min: 1024, max: 4 * MiB },
        default: 16 * 1024,
        doc: 'Longer lines are split into partial (P) records in the CRI log.',
      },
    },
  },
} as const satisfies Record<string, Section>;

export type Schema = typeof schema;

type ValueOf<K extends FieldKind> = K extends { type: 'integer' }
  ? number
  : K extends { type: 'boolean' }
    ? boolean
    : K extends { type: 'strings' }
      ? string[]
      : K extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

type SectionValues<S extends Section> = { [F in keyof S['fields']]: ValueOf<S['fields'][F]['kind']> };

/** The validated configuration: `top` keys are flattened to the root. */
export type Config = SectionValues<Schema['top']> & {
  [S in Exclude<keyof Schema, 'top'>]: SectionValues<Schema[S]>;
};
