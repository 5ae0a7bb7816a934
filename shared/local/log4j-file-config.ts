/**
 * A Log4j 2 configuration that writes everything at INFO and above to one
 * file, as the local runtime's JVM services (the broker, the Connect worker)
 * log: `quieter` names loggers held to a higher level, e.g. `{ 'state.change.logger': 'WARN' }`.
 */
export function log4jFileConfig(logFile: string, quieter: Readonly<Record<string, 'WARN' | 'ERROR'>> = {}): string {
  return `${[
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = FILE',
    `appender.file.fileName = ${logFile}`,
    'appender.file.append = true',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = FILE',
    ...Object.entries(quieter).flatMap(([logger, level], index) => [
      `logger.quiet${index}.name = ${logger}`,
      `logger.quiet${index}.level = ${level}`,
    ]),
  ].join('\n')}\n`;
}
