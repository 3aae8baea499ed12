/**
 * `LOG_FORMAT`, apart from the logger itself: loadConfig reads it, and a CLI command that only
 * reads the configuration need not load pino.
 */

/** `LOG_FORMAT`: `auto` is `pretty` when stdout is a terminal, `json` otherwise. */
export type LogFormatSetting = 'auto' | 'json' | 'pretty';
export type LogFormat = 'json' | 'pretty';

/** The values `LOG_FORMAT` accepts (loadConfig refuses anything else). */
export const LOG_FORMATS: Record<string, LogFormatSetting> = { auto: 'auto', json: 'json', pretty: 'pretty' };

/** The format to write: `json` and `pretty` as asked; `auto` follows whether stdout is a terminal. */
export function resolveLogFormat(setting: LogFormatSetting, stdoutIsTerminal: boolean): LogFormat {
  if (setting === 'auto') return stdoutIsTerminal ? 'pretty' : 'json';
  return setting;
}
