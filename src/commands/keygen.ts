import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { ioError, SeglogError } from '../engine/io/errors.js';
import { verifierKeyLine } from '../format/signed-note.js';
import { BaseCommand } from '../ui/base-command.js';
import { UsageError } from '../ui/errors.js';

/** Creates a file that must not exist yet, with this mode, and writes it whole. */
function writeNew(path: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') throw new SeglogError('usage', 'already exists; keygen never overwrites a key', { file: path });
    throw ioError(err, path, 'cannot create');
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export default class Keygen extends BaseCommand<typeof Keygen> {
  static override summary = 'Create an Ed25519 key pair for signing heads: NAME.key (private, mode 0600) and NAME.pub';
  static override description =
    'NAME.pub holds the verifier key as a signed-note verifier line (<name>+<key hash>+<base64 key>), readable by ' +
    "any C2SP signed-note implementation. The key name is NAME's file name unless --name is given.";
  static override examples = ['<%= config.bin %> keygen --out keys/ops'];
  static override flags = {
    out: Flags.string({ description: 'path prefix: writes OUT.key and OUT.pub', required: true }),
    name: Flags.string({ description: 'the key name in signature lines (default: the file name of --out)' }),
  };

  async run(): Promise<void> {
    const name = this.flags.name ?? basename(this.flags.out);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    let verifierKey: string;
    try {
      verifierKey = verifierKeyLine(name, publicKey);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const keyPath = `${this.flags.out}.key`;
    const pubPath = `${this.flags.out}.pub`;
    for (const p of [keyPath, pubPath]) if (existsSync(p)) throw new SeglogError('usage', 'already exists; keygen never overwrites a key', { file: p });
    writeNew(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
    writeNew(pubPath, `${verifierKey}\n`, 0o644);
    this.emit({ name, key: keyPath, pub: pubPath, verifierKey }, (r) => `wrote ${r.key} (private, mode 0600) and ${r.pub}\n${r.verifierKey}`);
  }
}
