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
