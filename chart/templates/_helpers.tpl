{{/* Names and labels. */}}
{{- define "ark.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ark.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ark.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ark.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ark-core
{{- end }}

{{- define "ark.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "ark.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ark
{{- end }}

{{- define "ark.labels" -}}
{{ include "ark.commonLabels" . }}
app.kubernetes.io/component: ark-core
{{- end }}

{{- define "ark.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ark.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ark.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "ark.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "ark.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "ark.postgresql" -}}
{{- eq .Values.storage.backend "postgresql" }}
{{- end }}

{{/* The etcd backend reaching etcd itself (an explicit opt-in), instead of through kube-apiserver. */}}
{{- define "ark.etcdDirect" -}}
{{- and (eq .Values.storage.backend "etcd") .Values.storage.etcd.direct }}
{{- end }}

{{/*
Cross-field rules values.schema.json cannot state with a clear message; a violation stops
helm install/upgrade/template/lint with the sentence below.
*/}}
{{- define "ark.validate" -}}
{{- $v := .Values }}
{{- if eq (include "ark.etcdDirect" .) "true" }}
{{- if not $v.storage.etcd.endpoints }}
{{- fail "storage.etcd.direct=true needs storage.etcd.endpoints: the etcd client URLs (comma-separated) of the etcd that kube-apiserver keeps Ark's CRD objects in, e.g. --set storage.etcd.endpoints=http://etcd.kube-system:2379 (or leave storage.etcd.direct off: ark-core then goes through kube-apiserver)" }}
{{- end }}
{{- if and (gt (int $v.controllerManager.replicas) 1) (has "query-workers" (include "ark.moduleList" . | splitList ",")) }}
{{- fail (printf "storage.etcd.direct=true keeps the query queue in process without leader election, so only one replica may run the query-workers module: set controllerManager.replicas=1 (it is %d), leave query-workers out of controllerManager.modules, or leave storage.etcd.direct off" (int $v.controllerManager.replicas)) }}
{{- end }}
{{- end }}
{{- if eq $v.storage.backend "postgresql" }}
{{- if not $v.storage.postgresql.host }}
{{- fail "storage.backend=postgresql needs storage.postgresql.host" }}
{{- end }}
{{- if not $v.storage.postgresql.passwordSecretName }}
{{- fail "storage.backend=postgresql needs storage.postgresql.passwordSecretName: a Secret in the release namespace with the password of storage.postgresql.user" }}
{{- end }}
{{- if not (has "apiserver" (include "ark.moduleList" . | splitList ",")) }}
{{- fail "storage.backend=postgresql registers ark-core as the API server for ark.mckinsey.com: controllerManager.modules must include apiserver" }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set either minAvailable or maxUnavailable, not both (set the other to null)" }}
{{- end }}
{{- end }}

{{/* The modules `ark serve` accepts (src/programs/serve.ts, knownModules). */}}
{{- define "ark.knownModules" -}}
apiserver,query-workers,controller,webhook,metrics
{{- end }}

{{/* --modules: controllerManager.modules, or the backend's set of the known modules. */}}
{{- define "ark.moduleList" -}}
{{- if .Values.controllerManager.modules }}
{{- join "," .Values.controllerManager.modules }}
{{- else }}
{{- $wanted := list "query-workers" "controller" "webhook" "metrics" }}
{{- if eq .Values.storage.backend "postgresql" }}
{{- $wanted = list "apiserver" "query-workers" "controller" "metrics" }}
{{- end }}
{{- $known := include "ark.knownModules" . | splitList "," }}
{{- $selected := list }}
{{- range $wanted }}
{{- if has . $known }}
{{- $selected = append $selected . }}
{{- end }}
{{- end }}
{{- join "," $selected }}
{{- end }}
{{- end }}

{{- define "ark.hasModule" -}}
{{- has .module (include "ark.moduleList" .root | splitList ",") }}
{{- end }}

{{/* Where the TLS Secret is mounted in the pod, and the data directory (an emptyDir). */}}
{{- define "ark.tlsDir" -}}/var/run/ark/tls{{- end }}
{{- define "ark.dataDir" -}}/var/lib/ark{{- end }}

{{/* The connection URL without the password (ARK_POSTGRES_PASSWORD carries it). */}}
{{- define "ark.postgresUrl" -}}
{{- $pg := .Values.storage.postgresql }}
{{- printf "postgresql://%s@%s:%d/%s?sslmode=%s" ($pg.user | urlquery) $pg.host (int $pg.port) ($pg.database | urlquery) $pg.sslMode }}
{{- end }}

{{/* `ark <command>` flags that select the store (ark-core and the migration Job). */}}
{{- define "ark.storageArgs" -}}
{{- if eq .Values.storage.backend "postgresql" }}
- --storage
- "postgresql"
- --pool-size
- {{ .Values.storage.postgresql.poolSize | quote }}
{{- else if ne (include "ark.etcdDirect" .) "true" }}
# Through kube-apiserver's API, with the pod's service account (in-cluster config).
- --storage
- "kubernetes"
{{- else }}
- --storage
- "etcd"
- --etcd-endpoints
- {{ .Values.storage.etcd.endpoints | quote }}
{{- if .Values.storage.etcd.tlsSecretName }}
- --etcd-cafile
- /etc/ark/etcd/ca.crt
- --etcd-certfile
- /etc/ark/etcd/tls.crt
- --etcd-keyfile
- /etc/ark/etcd/tls.key
{{- end }}
{{- end }}
{{- end }}

{{/* The PostgreSQL URL and password, from the environment (the password from its Secret). */}}
{{- define "ark.storageEnv" -}}
{{- if eq .Values.storage.backend "postgresql" }}
- name: ARK_POSTGRES_URL
  value: {{ include "ark.postgresUrl" . | quote }}
- name: ARK_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.postgresql.passwordSecretName | quote }}
      key: {{ .Values.storage.postgresql.passwordSecretKey | quote }}
{{- end }}
{{- end }}
