// A mount as plain data, the way snapshotters hand them out (containerd core/mount/mount.go): the
// caller decides where it goes. `options` are mount(8) options (`ro`, `lowerdir=…`, `rbind`).
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

/** One line of /proc/self/mountinfo, the fields berth uses. */
export interface MountInfo {
  id: number;
  parent: number;
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
}
