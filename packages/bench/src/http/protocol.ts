// Messages over the IPC channels between the orchestrator and its two kinds
// of child process (a server, the load generator). Every request carries an
// id; the reply echoes it.

/** One session the load generator presents: its Cookie header value and the subject the server must answer. */
export interface Visit {
  readonly cookie: string;
  readonly subject: string;
}

export type ServerRequest = { readonly id: number; readonly type: 'snap' | 'stop' };

export type ServerReply =
  | { readonly type: 'ready'; readonly port: number; readonly visits: readonly Visit[] }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'snap';
      readonly id: number;
      /** process.cpuUsage() user + system, µs since the server started. */
      readonly cpuUs: number;
      /** Requests the server received since it started. */
      readonly requests: number;
      /** Time spent in garbage collection since it started (PerformanceObserver 'gc'), µs. */
      readonly gcUs: number;
      /** Garbage collections since it started. */
      readonly gcs: number;
      /** Event-loop iterations since it started (libuv's loop count). */
      readonly loops: number;
      /** Time the event loop spent outside its poll wait since it started, µs (for utilisation). */
      readonly activeUs: number;
      /** CPU time of the main (JavaScript) thread alone since it started, µs (Linux /proc; NaN elsewhere). The rest of cpuUs is V8's background GC and compiler threads and libuv's pool. */
      readonly mainThreadCpuUs: number;
      /** Voluntary context switches since it started: times the process slept (an idle poll wait, mostly). */
      readonly sleeps: number;
      /** Involuntary context switches since it started: times the kernel preempted it (other load). */
      readonly preemptions: number;
      /** Minor page faults since it started (fresh memory touched: heap growth, new buffers). */
      readonly minorFaults: number;
    }
  | { readonly type: 'stopped'; readonly id: number };

export type LoadRequest =
  | {
      readonly id: number;
      readonly type: 'start';
      readonly port: number;
      readonly connections: number;
      readonly visits: readonly Visit[];
    }
  | { readonly id: number; readonly type: 'snap' | 'halt' };

export type LoadReply =
  | { readonly type: 'ready' }
  | { readonly type: 'started'; readonly id: number }
  | {
      readonly type: 'snap' | 'halted';
      readonly id: number;
      /** Responses that were 200 with the expected subject, since start. */
      readonly ok: number;
      /** Any other response or socket error, since start. */
      readonly errors: number;
      /** The load generator's own process.cpuUsage() user + system, µs. */
      readonly cpuUs: number;
      /** The load generator's voluntary context switches: how often it slept waiting for answers. */
      readonly sleeps: number;
      /** performance.now() in the load generator when the counts were read. */
      readonly at: number;
      /** What the first error was (a status line or an error code; never a cookie). */
      readonly firstError?: string;
    };
