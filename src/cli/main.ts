import { Command, CommanderError } from 'commander';
import { VERSION } from '../server/version.ts';
import { isPapillonError } from '../util/errors.ts';
import { registerAccountCommands } from './account-commands.ts';
import { registerAdminCommands } from './admin-commands.ts';
import { registerAppCommands } from './app-commands.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerCheckCommand } from './check.ts';
import { registerControlCommands } from './control-commands.ts';
import { registerInviteCommands } from './invite-commands.ts';
import { registerPortableCommands } from './portable-commands.ts';
import { registerServeCommand } from './serve-command.ts';

/** `papillon`: the command-line interface (README "Command line"). */
const program = new Command('papillon')
  .description('Papillon: one Messenger network for MSN Messenger (MSNP) and XMPP clients')
  .version(VERSION)
  .option('-c, --config <file>', 'JSON configuration file (environment PAPILLON_* overrides it)')
  .showHelpAfterError()
  .exitOverride();

registerServeCommand(program);
registerAccountCommands(program);
registerAdminCommands(program);
registerAppCommands(program);
registerControlCommands(program);
registerCheckCommand(program);
registerInviteCommands(program);
registerBackupCommands(program);
registerPortableCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed the message (or the help/version text).
    process.exitCode = err.exitCode;
  } else if (isPapillonError(err)) {
    process.stderr.write(`papillon: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(
      `papillon: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`,
    );
    process.exitCode = 1;
  }
}
