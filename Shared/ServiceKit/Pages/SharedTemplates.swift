/// The partials every page shares: the document head with the stylesheet,
/// the header with the service's navigation, and the footer.
enum SharedTemplates {
    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Conveyor {{service}}</title>
        <link rel="icon" href="data:,"><link rel="stylesheet" href="/static/conveyor.css"></head>
        <body><header><a class="brand" href="/">Conveyor</a> <span class="service">{{service}}</span>
        <nav>{{#nav}}<a href="{{href}}">{{label}}</a>{{/nav}}</nav></header><main>
        """

    static let foot = """
        </main><footer><a href="/docs">API</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">metrics</a>
        · <a href="/health/ready">readiness</a></footer></body></html>
        """
}
