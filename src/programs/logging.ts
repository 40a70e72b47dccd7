/**
 * Log lines on stderr: one JSON object per line (time, level, the annotations such as `module`
 * and `requestId`, msg, cause) for log collectors, or Effect's human-readable format when stderr
 * is a terminal. `--log-format` overrides the choice; `--log-level` sets the lowest level shown.
 */
import { Layer, Logger, References } from "effect"

export type LogFormat = "auto" | "json" | "text"
export type LogLevelName = "debug" | "info" | "warn" | "error"

const levels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const

const messageText = (m: unknown): string => typeof m === "string" ? m : JSON.stringify(m)

const jsonLines = Logger.withConsoleError(Logger.map(Logger.formatStructured, (entry) =>
  JSON.stringify({
    time: entry.timestamp,
    level: entry.level.toLowerCase(),
    ...entry.annotations,
    msg: Array.isArray(entry.message) ? entry.message.map(messageText).join(" ") : messageText(entry.message),
    ...(entry.cause === undefined ? {} : { cause: entry.cause })
  })))

export const loggingLayer = (format: LogFormat, level: LogLevelName, terminal: boolean) =>
  Layer.mergeAll(
    Logger.layer([format === "json" || (format === "auto" && !terminal) ? jsonLines : Logger.consolePretty()]),
    Layer.succeed(Logger.LogToStderr, true),
    Layer.succeed(References.MinimumLogLevel, levels[level])
  )

/** The log lines of a module's work (and of the fibers it starts) carry `module: <name>`. */
export const inModule = (name: string) => <A, E, R>(layer: Layer.Layer<A, E, R>) =>
  Layer.provide(layer, Layer.succeed(References.CurrentLogAnnotations, { module: name }))
