import type { Command } from 'commander';
import { createLogger } from '../server/logger.ts';
import { VERSION } from '../server/version.ts';
import { configOf } from './context.ts';

/** How long a polite shutdown may take before the process exits anyway (the issue asks for 5 s). */
const SHUTDOWN_DEADLINE_MS = 4_500;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server (what `npm start` does)')
    .action(async (_opts: unknown, command: Command) => {
      // Loaded here: the whole server is most of the code, which other commands do without.
      const { startServer } = await import('../server/server.ts');
      const config = configOf(command);
      const logger = createLogger(config.logLevel, { format: config.logFormat });
      logger.info(
        { version: VERSION, domain: config.domain },
        `Papillon ${VERSION} starting for ${config.domain}`,
      );
      let stopping = false;
      const stopAndExit = (why: string) => {
        if (stopping) return;
        stopping = true;
        logger.info(`${why}: shutting down`);
        const deadline = setTimeout(() => {
          logger.warn('shutdown took too long; exiting anyway');
          process.exit(0);
        }, SHUTDOWN_DEADLINE_MS);
        deadline.unref();
        server.stop().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      const server = await startServer(config, logger, {
        loadConfig: () => configOf(command),
        requestStop: stopAndExit,
      });
      logger.info('ready');
      process.once('SIGINT', () => stopAndExit('SIGINT'));
      process.once('SIGTERM', () => stopAndExit('SIGTERM'));
      // SIGHUP reloads (src/server/reload.ts) instead of ending the process.
      process.on('SIGHUP', () => {
        server.reload().then(
          (changes) =>
            logger.info(
              { signal: 'SIGHUP', changes },
              `SIGHUP: reloaded${changes.length > 0 ? `: ${changes.join('; ')}` : ' (nothing changed)'}`,
            ),
          (err: unknown) =>
            logger.error(
              { signal: 'SIGHUP', err: (err as Error).message },
              `SIGHUP: reload failed, nothing changed: ${(err as Error).message}`,
            ),
        );
      });
    });
}
