/** client-node informers as their owners run them. */
import type { Informer, KubernetesObject } from "@kubernetes/client-node"

/**
 * As client-node documents: an informer stops on errors, and its owner restarts it. One restart
 * at a time: a second start() would abort the first one's requests.
 */
export const restartOnError = <T extends KubernetesObject>(informer: Informer<T>, delayMs: number) => {
  let restart: ReturnType<typeof setTimeout> | undefined
  informer.on("error", () => {
    restart ??= setTimeout(() => {
      restart = undefined
      void informer.start().catch(() => undefined)
    }, delayMs)
  })
}
