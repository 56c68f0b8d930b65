import type { Command } from 'commander';
import { createLogger } from '../server/logger.ts';
import { startServer } from '../server/server.ts';
import { VERSION } from '../server/version.ts';
import { configOf } from './context.ts';

/** How long a polite shutdown may take before the process exits anyway (the issue asks for 5 s). */
const SHUTDOWN_DEADLINE_MS = 4_500;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server (what `npm start` does)')
    .action(async (_opts: unknown, command: Command) => {
      const config = configOf(command);
      const logger = createLogger(config.logLevel);
      logger.info(
        { version: VERSION, domain: config.domain },
        `Papillon ${VERSION} starting for ${config.domain}`,
      );
      const server = await startServer(config, logger);
      logger.info('ready');

      const onSignal = (signal: NodeJS.Signals) => {
        logger.info({ signal }, `${signal}: shutting down`);
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
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
}
