import JSON
import Learning
import Registry
import ServiceKit
import Testing

@testable import ServingService

@Suite("Open Inference Protocol tensors")
struct InferenceTensorTests {
    static func tensor(_ json: String) throws -> InferenceTensors.Tensor {
        try InferenceTensors.tensor(try JSONValue.parse(Array(json.utf8)), index: 0)
    }

    @Test("element counts multiply without overflow")
    func elementCount() {
        #expect(TensorShape.elementCount([2, 3, 4]) == 24)
        #expect(TensorShape.elementCount([]) == 1)
        #expect(TensorShape.elementCount([0, Int.max]) == 0)
        #expect(TensorShape.elementCount([4_294_967_296, 4_294_967_296]) == nil)
    }

    @Test("a shape whose element count overflows is a 422 naming the shape, not a trap")
    func overflowingShape() {
        #expect(throws: APIError.self) {
            try Self.tensor(#"{"name":"x","shape":[4294967296,4294967296],"datatype":"FP64","data":[]}"#)
        }
        do {
            _ = try Self.tensor(#"{"name":"x","shape":[4294967296,4294967296],"datatype":"FP64","data":[]}"#)
        } catch let error as APIError {
            #expect(error.status == .unprocessableContent)
            #expect(error.problems.map(\.field) == ["inputs[0].shape"])
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(
        "malformed tensors list every problem by field",
        arguments: [
            (#"{"shape":[1],"datatype":"FP64","data":[1]}"#, "inputs[0].name"),
            (#"{"name":"x","shape":[1],"datatype":"FP65","data":[1]}"#, "inputs[0].datatype"),
            (#"{"name":"x","shape":[-1],"datatype":"FP64","data":[1]}"#, "inputs[0].shape"),
            (#"{"name":"x","shape":[1.5],"datatype":"FP64","data":[1]}"#, "inputs[0].shape"),
            (#"{"name":"x","shape":[2],"datatype":"FP64","data":[1]}"#, "inputs[0].data"),
            (#"{"name":"x","shape":[1],"datatype":"FP64","data":7}"#, "inputs[0].data"),
        ])
    func malformed(_ json: String, _ field: String) {
        do {
            _ = try Self.tensor(json)
            Issue.record("\(json) was accepted")
        } catch let error as APIError {
            #expect(error.problems.map(\.field).contains(field), "\(error.problems)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("nested data is flattened row-major and an [N, F] tensor maps columns to features")
    func matrix() throws {
        let tensor = try Self.tensor(#"{"name":"input-0","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,4]]}"#)
        let features = [
            FeatureSpec(name: "a", type: .numeric), FeatureSpec(name: "b", type: .numeric),
        ]
        let (count, lookup) = try InferenceTensors.instances([tensor], features: features)
        #expect(count == 2)
        #expect(lookup(1, "a") == .number(3))
        #expect(lookup(0, "b") == .number(2))
    }
}
