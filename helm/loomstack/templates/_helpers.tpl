{{- define "loomstack.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "loomstack.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "loomstack.labels" -}}
app.kubernetes.io/name: {{ include "loomstack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "loomstack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loomstack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "loomstack.tokenSecret" -}}
{{- if .Values.adminToken.existingSecret -}}
{{- .Values.adminToken.existingSecret -}}
{{- else -}}
{{- printf "%s-admin" (include "loomstack.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "loomstack.tokenSecretKey" -}}
{{- if .Values.adminToken.existingSecret -}}
{{- .Values.adminToken.existingSecretKey | default "token" -}}
{{- else -}}
token
{{- end -}}
{{- end -}}

{{/*
The token of the Secret the chart manages (not called with existingSecret): the configured value,
else, on an upgrade, the one the release's Secret already holds, else a new random one. The result
is remembered in .Values for the rest of this render, so the Secret and the pod's checksum
annotation see the same generated token.
Only an upgrade looks the Secret up: on an install the release has no Secret yet (an uninstall
deleted it), and an install or `helm template` then needs no cluster to render.
*/}}
{{- define "loomstack.managedToken" -}}
{{- if .Values.adminToken.value -}}
{{- .Values.adminToken.value -}}
{{- else -}}
{{- if not (hasKey .Values.adminToken "generatedThisRender") -}}
{{- $kept := "" -}}
{{- if .Release.IsUpgrade -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "loomstack.tokenSecret" .) -}}
{{- if and $existing $existing.data -}}
{{- $kept = index $existing.data "token" | default "" | b64dec -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values.adminToken "generatedThisRender" ($kept | default (randAlphaNum 43)) -}}
{{- end -}}
{{- .Values.adminToken.generatedThisRender -}}
{{- end -}}
{{- end -}}

{{- define "loomstack.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "loomstack.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/*
Whole seconds (rounded up) of a duration written as digits and a unit: ms, s, m or h (the schema
allows nothing else).
*/}}
{{- define "loomstack.seconds" -}}
{{- $digits := regexFind "^[0-9]+" . -}}
{{- $unit := trimPrefix $digits . -}}
{{- $n := atoi $digits -}}
{{- if eq $unit "ms" -}}{{ div (add $n 999) 1000 }}
{{- else if eq $unit "s" -}}{{ $n }}
{{- else if eq $unit "m" -}}{{ mul $n 60 }}
{{- else if eq $unit "h" -}}{{ mul $n 3600 }}
{{- else -}}{{ fail (printf "%q is not a duration such as 500ms, 10s, 2m or 1h" .) }}
{{- end -}}
{{- end -}}

{{/* The pod's grace period: the drain, then the margin for the API, the link and the JVM. */}}
{{- define "loomstack.terminationGracePeriodSeconds" -}}
{{- add (include "loomstack.seconds" .Values.shutdown.drain | atoi) (include "loomstack.seconds" .Values.shutdown.margin | atoi) -}}
{{- end -}}

{{/* The application.yaml of config (loomstack.*) and logging (logging.*); empty when both are. */}}
{{- define "loomstack.applicationYaml" -}}
{{- $doc := dict -}}
{{- with .Values.config -}}{{- $_ := set $doc "loomstack" . -}}{{- end -}}
{{- with .Values.logging -}}{{- $_ := set $doc "logging" . -}}{{- end -}}
{{- if $doc -}}{{- toYaml $doc -}}{{- end -}}
{{- end -}}
