import { stringify } from 'smol-toml';
import { type Section, schema } from './schema.ts';

function comment(text: string): string {
  return `# ${text}\n`;
}

function entries(section: Section): string {
  let out = '';
  for (const [key, field] of Object.entries(section.fields)) {
    // stringify a one-key table to get TOML's own quoting of the value.
    out += comment(field.doc);
    out += `# ${stringify({ [key]: field.default }).trim()}\n`;
  }
  return out;
}

/**
 * The commented default configuration (`berth config default`): every key, its meaning and its
 * default, each commented out so that the printed file changes nothing when installed as is.
 */
export function defaultConfigText(): string {
  let out = comment('berth configuration: /etc/berth/config.toml (override with --config).');
  out += comment('Every key is shown with its default value; uncomment a line to change it.');
  out += '\n';
  out += entries(schema.top);
  for (const [name, section] of Object.entries(schema)) {
    if (name === 'top') continue;
    out += `\n${comment(section.doc)}# [${name}]\n`;
    out += entries(section);
  }
  return out;
}
