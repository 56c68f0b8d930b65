import { PapillonError } from '../util/errors.ts';

/** Reads all of stdin and drops one trailing newline (so `<<< 'pw'` and `echo pw |` work). */
export async function readPasswordFromStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal without echo; asks twice when `confirm`. */
export async function promptPassword(confirm: boolean): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) {
    throw new PapillonError('weak-password', 'no terminal to ask for the password on: pass --password-stdin');
  }
  const first = await ask('Password: ');
  if (confirm && (await ask('Repeat password: ')) !== first) {
    throw new PapillonError('weak-password', 'the two passwords differ');
  }
  return first;

  function ask(prompt: string): Promise<string> {
    return new Promise((resolve, reject) => {
      stderr.write(prompt);
      stdin.setRawMode(true);
      stdin.resume();
      let input = '';
      const done = (err?: Error) => {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off('data', onData);
        stderr.write('\n');
        if (err) reject(err);
        else resolve(input);
      };
      const onData = (data: Buffer) => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done();
          if (ch === '\u0003') return done(new PapillonError('weak-password', 'cancelled'));
          if (ch === '\u007f' || ch === '\b') input = [...input].slice(0, -1).join('');
          else input += ch;
        }
      };
      stdin.on('data', onData);
    });
  }
}
