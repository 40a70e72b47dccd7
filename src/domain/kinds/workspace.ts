/** Workspace: a persistent working directory (git, archive or object storage content) agents run in. */
import { Schema } from "effect"
import { conditions, optionalString, SecretKeySelector } from "./common.ts"

const opt = Schema.optionalKey
const DateTime = optionalString(undefined, { format: "date-time" })

const Content = Schema.Struct({
  archive: opt(Schema.Struct({
    authSecretRef: opt(SecretKeySelector),
    format: opt(Schema.Literals(["tar.gz", "zip"]).annotate({ default: "tar.gz" })),
    url: Schema.String
  })),
  empty: opt(Schema.Struct({})),
  git: opt(Schema.Struct({
    authSecretRef: opt(SecretKeySelector),
    branch: optionalString(undefined, { default: "main" }),
    depth: opt(Schema.Int.annotate({ default: 1 })),
    path: opt(Schema.String),
    sparsePaths: opt(Schema.Array(Schema.String)),
    url: Schema.NonEmptyString
  })),
  objectStorage: opt(Schema.Struct({
    authSecretRef: opt(SecretKeySelector),
    bucket: Schema.String,
    prefix: opt(Schema.String),
    provider: Schema.Literals(["s3", "gcs", "azure"])
  }))
})

export const WorkspaceSpec = Schema.Struct({
  autoCommit: opt(Schema.Struct({
    enabled: opt(Schema.Boolean.annotate({ default: false })),
    message: optionalString(undefined, { default: "Changes by Ark agent" }),
    pushBranch: opt(Schema.String),
    userEmail: optionalString(undefined, { default: "ark-agent@noreply.github.com" }),
    userName: optionalString(undefined, { default: "Ark Agent" })
  })),
  content: opt(Content),
  environment: opt(Schema.Struct({
    image: opt(Schema.Struct({
      pullSecretRef: opt(SecretKeySelector),
      ref: Schema.NonEmptyString,
      sourcePath: opt(Schema.String)
    }))
  })),
  mountPath: optionalString(undefined, { default: "/workspace" }),
  persistent: opt(Schema.Boolean.annotate({ default: true })),
  storage: opt(Schema.Struct({
    accessMode: opt(Schema.Literals(["ReadWriteOnce", "ReadWriteMany"]).annotate({ default: "ReadWriteOnce" })),
    size: optionalString(undefined, { default: "5Gi" }),
    storageClass: opt(Schema.String)
  })),
  ttl: opt(Schema.String)
})

export const WorkspaceStatus = Schema.Struct({
  conditions: conditions(),
  contentStatus: opt(Schema.Struct({
    archive: opt(Schema.Struct({ extractedAt: DateTime })),
    git: opt(Schema.Struct({ branch: opt(Schema.String), dirty: opt(Schema.Boolean), lastCommit: opt(Schema.String) })),
    objectStorage: opt(Schema.Struct({ lastSynced: DateTime, provider: opt(Schema.String) })),
    type: opt(Schema.String)
  })),
  currentOwner: opt(Schema.String),
  environmentStatus: opt(Schema.Struct({ image: opt(Schema.String), ready: opt(Schema.Boolean) })),
  lastSynced: DateTime,
  path: opt(Schema.String),
  phase: opt(Schema.Literals(["Pending", "Provisioning", "Ready", "Error", "Terminating"])),
  pvcName: opt(Schema.String)
})
