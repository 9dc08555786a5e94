// Container ids and names as docker makes them: a 64-hex-digit random id (shown as its first 12
// digits) and, when no --name is given, an `adjective_surname` name. Names follow docker's rule
// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, which also keeps them safe as path components and log prefixes.

import { randomBytes, randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../errdefs/index.ts';

export const SHORT_ID_LENGTH = 12;
const validName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** docker allows longer names; 128 keeps `ps` readable and every derived path short. */
export const MAX_NAME_LENGTH = 128;

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH);
}

export function checkContainerName(name: string): string {
  if (name.length > MAX_NAME_LENGTH || !validName.test(name)) {
    throw new InvalidArgumentError(
      `container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-]* allowed, at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  // A 64-hex name would be found as some other container's id (and docker refuses it too).
  if (/^[0-9a-f]{64}$/.test(name)) {
    throw new InvalidArgumentError(`container name ${JSON.stringify(name)}: looks like a container id`);
  }
  return name;
}

const adjectives = [
  'agile',
  'bold',
  'brave',
  'calm',
  'clever',
  'eager',
  'fair',
  'gentle',
  'happy',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'quiet',
  'sharp',
  'steady',
  'swift',
  'tidy',
  'vivid',
  'witty',
];
const people = [
  'babbage',
  'curie',
  'dijkstra',
  'engelbart',
  'hamilton',
  'hopper',
  'kernighan',
  'knuth',
  'lamport',
  'liskov',
  'lovelace',
  'mccarthy',
  'noether',
  'ritchie',
  'shannon',
  'thompson',
  'torvalds',
  'turing',
  'wirth',
  'wozniak',
];

/** A fresh `adjective_surname_NNNN`; the number makes a clash with an existing name unlikely. */
export function randomName(): string {
  const a = adjectives[randomInt(adjectives.length)];
  const p = people[randomInt(people.length)];
  return `${a}_${p}_${randomInt(10_000).toString().padStart(4, '0')}`;
}
