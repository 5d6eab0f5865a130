{{/* Chart name, overridable. */}}
{{- define "fastmcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Release-qualified name. Kept to 52 characters: StatefulSet pod names append "-<ordinal>" and
the controller-revision-hash label appends more, and the pod name is the audit chain id
(at most 64 characters of [A-Za-z0-9._-]).
*/}}
{{- define "fastmcp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fastmcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fastmcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fastmcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fastmcp.labels" -}}
helm.sh/chart: {{ include "fastmcp.chart" . }}
{{ include "fastmcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "fastmcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fastmcp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "fastmcp.image" -}}
{{- if .Values.image.digest -}}
{{- if not (regexMatch "^sha256:[0-9a-f]{64}$" .Values.image.digest) -}}
{{- fail "image.digest must be sha256:<64 lowercase hex>" -}}
{{- end -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The least grace period that lets the gateway finish: preStop sleep + shutdownMs (rounded up) + shipping drain. */}}
{{- define "fastmcp.minimumGracePeriodSeconds" -}}
{{- add (int .Values.preStopSleepSeconds) (div (add (int .Values.gateway.shutdownMs) 999) 1000) (int .Values.shippingDrainSeconds) -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: the configured value, or the minimum when it is 0. */}}
{{- define "fastmcp.terminationGracePeriodSeconds" -}}
{{- $minimum := int (include "fastmcp.minimumGracePeriodSeconds" .) -}}
{{- if eq (int .Values.terminationGracePeriodSeconds) 0 -}}
{{- $minimum -}}
{{- else -}}
{{- int .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* The rendered fastmcp.json: values.config verbatim, or files/fastmcp.json with the values substituted. */}}
{{- define "fastmcp.config" -}}
{{- if .Values.config -}}
{{- .Values.config -}}
{{- else -}}
{{- tpl (.Files.Get "files/fastmcp.json") . -}}
{{- end -}}
{{- end -}}

{{/*
The "approvals" section: values.gateway.approvals, plus approvals.peers.urls naming every replica's admin listener
through the headless Service when there are several replicas and the card fingerprint key is there (existingSecret):
replicas then find each other's grants and approvals (docs/approvals.md, "Restarts and replicas"), MACed under a key
derived from that key. A replica finds itself in the list and skips itself. A peers section in values is kept as given.
*/}}
{{- define "fastmcp.approvals" -}}
{{- $approvals := deepCopy (default dict .Values.gateway.approvals) -}}
{{- if and (gt (int .Values.replicaCount) 1) .Values.existingSecret (not (hasKey $approvals "peers")) -}}
{{- $fullname := include "fastmcp.fullname" . -}}
{{- $urls := list -}}
{{- range $ordinal := until (int .Values.replicaCount) -}}
{{- $urls = append $urls (printf "http://%s-%d.%s-headless.%s.svc:%d" $fullname $ordinal $fullname $.Release.Namespace (int $.Values.service.adminPort)) -}}
{{- end -}}
{{- $_ := set $approvals "peers" (dict "urls" $urls) -}}
{{- end -}}
{{- toJson $approvals -}}
{{- end -}}

{{/*
The "admin" section: the listener on the pod address (the kubelet's probes and the approvals API reach it there; only
ClusterIP Services expose it), values.gateway.admin (operatorGroups, toolsObservedAccess), and metricsTokenFile naming
the scrape token when metricsToken.existingSecret is set (that Secret is mounted at /run/secrets/fastmcp-metrics/).
*/}}
{{- define "fastmcp.admin" -}}
{{- $admin := deepCopy (default dict .Values.gateway.admin) -}}
{{- $_ := set $admin "listen" (printf "0.0.0.0:%d" (int .Values.service.adminPort)) -}}
{{- if .Values.metricsToken.existingSecret -}}
{{- $_ := set $admin "metricsTokenFile" (printf "/run/secrets/fastmcp-metrics/%s" .Values.metricsToken.key) -}}
{{- end -}}
{{- toJson $admin -}}
{{- end -}}

{{/*
Secret-backed environment and volume, shared by the gateway and the helm test Pod so that
`fastmcp config check` sees what serve sees.
*/}}
{{- define "fastmcp.secretEnv" -}}
{{- if .Values.existingSecret }}
- name: FASTMCP_PAN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: pan-fingerprint-key
      # Sealed session and task ids, and approval peers (several replicas), need it (the same on every replica): a Secret without it is an error then.
      optional: {{ not (or .Values.gateway.sessions.sealed .Values.gateway.tasks.sealed (gt (int .Values.replicaCount) 1)) }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: aws-access-key-id
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: aws-secret-access-key
      optional: true
{{- end }}
{{- end -}}

{{- define "fastmcp.configVolumes" -}}
# A directory mount, not subPath: the kubelet updates it when the ConfigMap changes and the
# gateway hot-reloads the policy (subPath mounts never update).
- name: config
  configMap:
    name: {{ include "fastmcp.fullname" . }}
{{- if .Values.existingSecret }}
- name: secrets
  secret:
    secretName: {{ .Values.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.metricsToken.existingSecret }}
# The /metrics scrape token alone, a Secret of its own: Prometheus is given this one, never the gateway's keys.
- name: metrics-token
  secret:
    secretName: {{ .Values.metricsToken.existingSecret }}
    items:
      - key: {{ .Values.metricsToken.key }}
        path: {{ .Values.metricsToken.key }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "fastmcp.configVolumeMounts" -}}
- name: config
  mountPath: /etc/fastmcp
  readOnly: true
{{- if .Values.existingSecret }}
- name: secrets
  mountPath: /run/secrets/fastmcp
  readOnly: true
{{- end }}
{{- if .Values.metricsToken.existingSecret }}
- name: metrics-token
  mountPath: /run/secrets/fastmcp-metrics
  readOnly: true
{{- end }}
{{- end -}}
