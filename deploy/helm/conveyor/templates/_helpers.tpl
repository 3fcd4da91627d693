{{- define "conveyor.labels" -}}
app.kubernetes.io/name: conveyor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "conveyor.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "conveyor.commonEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.database.secretName }}, key: {{ .Values.database.secretKey }}}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.name }}, key: ADMIN_TOKEN, optional: true}
{{- end -}}

{{/* The artifact store's mode, "s3" or "volume" (values.yaml, artifacts); stops the
     rendering with the reason when the values cannot work. */}}
{{- define "conveyor.artifactsMode" -}}
{{- $artifacts := .Values.artifacts -}}
{{- if not (has $artifacts.mode (list "s3" "volume")) -}}
{{- fail (printf "artifacts.mode must be s3 or volume, not %v" $artifacts.mode) -}}
{{- end -}}
{{- if eq $artifacts.mode "s3" -}}
{{- range $key := list "endpoint" "region" "bucket" "credentialsSecret" -}}
{{- if not (get $artifacts.s3 $key) -}}
{{- fail (printf "artifacts.s3.%s is required when artifacts.mode is s3" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $artifacts.mode -}}
{{- end -}}

{{/* ARTIFACTS_URL in s3 mode: s3://<bucket>/<prefix>, or s3://<bucket> with no prefix. */}}
{{- define "conveyor.artifactsURL" -}}
{{- $prefix := trimAll "/" (.Values.artifacts.s3.prefix | default "") -}}
s3://{{ .Values.artifacts.s3.bucket }}{{ if $prefix }}/{{ $prefix }}{{ end }}
{{- end -}}
