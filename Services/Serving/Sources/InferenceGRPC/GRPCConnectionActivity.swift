import NIOCore
import ServiceKit

/// Reports a gRPC connection to `OpenConnections` (busy while a call is open,
/// see `GRPCListenerLimits`) and closes it once nothing was read or written
/// for the idle timeout with no call open. The transport's own `maxIdleTime`
/// only sends GOAWAY and waits for the client's answer, so a client that
/// never speaks HTTP/2, or stops answering, would hold its socket forever.
final class GRPCConnectionActivity: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let connections: OpenConnections
    private let idleTimeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(connections: OpenConnections, idleTimeout: Duration) {
        self.connections = connections
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connections.opened(context.channel)
        schedule(context, at: lastActivity + idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        context.write(data, promise: promise)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.handler.timerFired(loopBound.value.context)
        }
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        let due = lastActivity + idleTimeout
        if connections.isBusy(context.channel) {
            schedule(context, at: .now() + idleTimeout)
        } else if due > .now() {
            schedule(context, at: due)
        } else {
            context.close(promise: nil)
        }
    }
}
